"""The seam between the rollout controller and where traffic really shifts.

:mod:`.base` is the Platform protocol (and ``Mode``, the traffic layer); :mod:`.local` drives
the embedded engine in-process and :mod:`.aws` drives AWS through boto3. What both speak:
AWS-shaped answers and stage-canary patches (:mod:`.shapes`) and the rollout marker kept in
an alias's description (:mod:`.marker`). :mod:`.fake` is the protocol in memory, scripted,
for the controller's decision tests.
"""
