import time


def _ms(event, default):
    return int((event.get("queryStringParameters") or {}).get("ms", default)) / 1000


def wait(event, context):
    time.sleep(_ms(event, 100))
    return {"statusCode": 200, "body": "waited"}


def spin(event, context):
    end = time.process_time() + _ms(event, 10)
    while time.process_time() < end:
        pass
    return {"statusCode": 200, "body": "spun"}
