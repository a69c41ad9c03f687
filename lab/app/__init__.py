"""The lab's own images: the demo pager application and the maintenance page.

``python -m lab.app --image registry.lab.example/pager:2026.11.2 --listen 127.0.0.1:8080``
runs one; the Pod runtime of the lab API server starts them for Pods of these images.
"""
