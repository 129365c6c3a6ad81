"""RemoteMonitor."""
import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from fastkeras.callbacks.callback import Callback


class RemoteMonitor(Callback):
    """POSTs each epoch's logs to ``root + path``: a form field ``field`` holding JSON, or
    (``send_as_json=True``) a JSON body; an unreachable server gives a warning."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = dict(headers or {}), bool(send_as_json)

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        for k, v in (logs or {}).items():
            payload[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        if self.send_as_json:
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **self.headers}
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(payload)}).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded", **self.headers}
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}",
                          stacklevel=2)
