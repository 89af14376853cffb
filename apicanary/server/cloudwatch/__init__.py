"""The CloudWatch API on the control port: three wire protocols (rpc-v2-cbor, json, query) over one
backend.
"""
