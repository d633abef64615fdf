"""Stand-in for `python -m tensorboard.main --logdir DIR --port P [--host H | --bind_all]`.

Serves one HTML page listing the event files under --logdir, so isaacctl's `tensorboard`
command (container, port binding, SSH forwarding) can be tested without TensorBoard."""

import argparse
import html
import http.server
import os


def main():
    parser = argparse.ArgumentParser(prog="tensorboard")
    parser.add_argument("--logdir", required=True)
    parser.add_argument("--port", type=int, default=6006)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--bind_all", action="store_true")
    args, _ = parser.parse_known_args()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            runs = []
            for root, _, names in os.walk(args.logdir):
                runs += [
                    os.path.relpath(os.path.join(root, n), args.logdir)
                    for n in names
                    if n.startswith("events.out.tfevents.")
                ]
            body = "<html><title>TensorBoard (isaacctl stand-in)</title><body><ul>"
            body += "".join(f"<li>{html.escape(run)}</li>" for run in sorted(runs)) + "</ul></body></html>"
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *unused):
            pass

    host = "0.0.0.0" if args.bind_all else args.host
    print(f"TensorBoard (stand-in) at http://{host}:{args.port}/ (Press CTRL+C to quit)", flush=True)
    http.server.ThreadingHTTPServer((host, args.port), Page).serve_forever()


if __name__ == "__main__":
    main()
