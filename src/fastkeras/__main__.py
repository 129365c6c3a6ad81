"""``python -m fastkeras``: the build information; ``python -m fastkeras serve m.keras
--port 8080``: a JSON prediction server for a saved model (fastkeras.serving_http)."""
import argparse
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m fastkeras")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="print the build information (the default)")
    srv = sub.add_parser("serve", help="serve a saved model over HTTP (JSON)")
    srv.add_argument("model", nargs="+",
                     help="one or more .keras or .h5 model files (named by their stems in "
                          "/v1/models/<name> and /v2/models/<name>; /predict serves the first)")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    srv.add_argument("--port", type=int, default=8080, help="port (0: any free one)")
    srv.add_argument("--threads", type=int, default=4, help="server threads (default 4)")
    srv.add_argument("--max-body", type=int, default=64 << 20,
                     help="largest request body in bytes (default 64 MiB)")
    srv.add_argument("--connection-limit", type=int, default=1000,
                     help="open connections at most; beyond it new ones wait until some "
                          "close (default 1000)")
    srv.add_argument("--channel-timeout", type=int, default=30,
                     help="seconds after which an idle connection, or one stuck before its "
                          "request is complete, is closed (default 30)")
    srv.add_argument("--max-batch-size", type=int, default=None,
                     help="turn on dynamic batching: concurrent requests to a model are "
                          "merged into runner calls of up to this many rows (default when "
                          "batching: 256)")
    srv.add_argument("--batch-wait-ms", type=float, default=None,
                     help="turn on dynamic batching: the oldest queued request waits at most "
                          "this many milliseconds for others (default when batching: 2)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from fastkeras.serving_http import Batching, serve

        if args.connection_limit < 1 or args.channel_timeout < 1:
            parser.error("--connection-limit and --channel-timeout must be at least 1")
        batching = None
        if args.max_batch_size is not None or args.batch_wait_ms is not None:
            given = {k: v for k, v in (("max_batch_size", args.max_batch_size),
                                       ("max_wait_ms", args.batch_wait_ms)) if v is not None}
            try:
                batching = Batching(**given)
            except ValueError as e:
                flag = "--max-batch-size" if "max_batch_size" in str(e) else "--batch-wait-ms"
                parser.error(f"{flag}: {e}")
        model = args.model if len(args.model) > 1 else args.model[0]
        serve(model, host=args.host, port=args.port, threads=args.threads,
              max_body=args.max_body, connection_limit=args.connection_limit,
              channel_timeout=args.channel_timeout, ready=lambda line: print(line, flush=True),
              batching=batching)
        return 0
    from fastkeras import build_info

    print(build_info())
    return 0


if __name__ == "__main__":
    sys.exit(main())
