"""isaacctl's helper for the Docker Engine API on a workstation (stdlib only, python3 >= 3.8).

Why not the docker CLI: `docker pull` prints no byte counts when not on a terminal, and
`docker login` writes the registry password into ~/.docker/config.json. This helper makes the
same API calls (/auth is what `docker login` asks the daemon), reads the password from stdin
only, never writes it anywhere, and streams the pull's JSON progress for a real progress bar.

    python3 docker_api.py auth REGISTRY USER      < password
    python3 docker_api.py pull IMAGE [REGISTRY USER < password]
    python3 docker_api.py inspect IMAGE
"""

import base64
import http.client
import json
import socket
import sys
import urllib.parse

SOCKET = "/var/run/docker.sock"


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=None)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def request(method, url, headers=None, body=None):
    connection = UnixConnection(SOCKET)
    encoded = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, url, body=encoded, headers=all_headers)
    return connection.getresponse()


def fail(message, code=1):
    print(json.dumps({"error": message}), flush=True)
    sys.exit(code)


def read_password():
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("no password on stdin", 2)
    return password


def auth_header(registry, user, password):
    payload = {"username": user, "password": password, "serveraddress": registry}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def split_image(image):
    name, _, digest = image.partition("@")
    if digest:
        return name, digest
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = name.rpartition(":")
        return repo, tag
    return name, "latest"


def cmd_auth(registry, user):
    password = read_password()
    body = {"username": user, "password": password, "serveraddress": registry}
    response = request("POST", "/auth", body=body)
    answer = json.loads(response.read() or b"{}")
    if response.status != 200:
        fail(answer.get("message", "registry refused the credentials"), 3)
    print(json.dumps({"status": answer.get("Status", "Login Succeeded")}), flush=True)


def cmd_pull(image, registry=None, user=None):
    headers = {}
    if registry:
        headers["X-Registry-Auth"] = auth_header(registry, user, read_password())
    repo, tag = split_image(image)
    query = urllib.parse.urlencode({"fromImage": repo, "tag": tag})
    response = request("POST", "/images/create?" + query, headers=headers)
    if response.status != 200:
        answer = json.loads(response.read() or b"{}")
        fail(answer.get("message", "pull refused (HTTP %d)" % response.status), 4)
    failed = False
    for line in response:
        line = line.strip()
        if not line:
            continue
        print(line.decode(), flush=True)
        if b'"error"' in line:
            failed = True
    sys.exit(4 if failed else 0)


def cmd_inspect(image):
    response = request("GET", "/images/" + urllib.parse.quote(image, safe="") + "/json")
    body = response.read()
    if response.status == 404:
        sys.exit(1)
    if response.status != 200:
        fail("inspect failed (HTTP %d)" % response.status, 5)
    data = json.loads(body)
    print(json.dumps({"id": data.get("Id"), "digests": data.get("RepoDigests", []),
                      "size": data.get("Size")}), flush=True)


def main(argv):
    commands = {"auth": cmd_auth, "pull": cmd_pull, "inspect": cmd_inspect}
    if not argv or argv[0] not in commands:
        fail(__doc__, 2)
    try:
        commands[argv[0]](*argv[1:])
    except (FileNotFoundError, ConnectionRefusedError):
        fail("the Docker daemon is not running (no %s)" % SOCKET, 6)
    except PermissionError:
        fail("no permission on %s: the login user is not in the docker group" % SOCKET, 7)
    except TypeError:
        fail(__doc__, 2)


if __name__ == "__main__":
    main(sys.argv[1:])
