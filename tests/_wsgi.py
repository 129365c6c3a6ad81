"""Calling a WSGI app in process (no sockets), for the serving tests."""
import io


def call_raw(app, method, path, data=b""):
    """(status, headers dict, body bytes) of one request; checks Content-Length."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(data)),
               "wsgi.input": io.BytesIO(data)}
    got = {}

    def start_response(status, headers):
        got["status"], got["headers"] = int(status.split()[0]), dict(headers)

    out = b"".join(app(environ, start_response))
    assert int(got["headers"]["Content-Length"]) == len(out)
    return got["status"], got["headers"], out
