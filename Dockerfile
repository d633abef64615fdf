# isaacctl in a container: every cloud extra, the OpenSSH client and rsync, run as a non-root
# user (uid 1000, like most desktop accounts: the files it writes in mounted folders are yours).
#
#   docker build -t isaacctl .
#   docker run --rm -it -v "$PWD/state:/state" -v "$HOME/.ssh:/home/isaacctl/.ssh:ro" \
#       -v "$HOME/.aws:/home/isaacctl/.aws:ro" isaacctl deploy aws --name ws1
#
# docs/install.md says which folder each cloud's credentials live in, how to build for another
# uid (--build-arg UID=... GID=...), and how CI builds it with no network at all
# (scripts/build_image.sh --offline: a debootstrapped base, wheels made beforehand).

# Any Debian-like image with python3 (3.10+) and its venv module.
ARG BASE_IMAGE=python:3.12-slim-bookworm

FROM ${BASE_IMAGE} AS build
# pip's extra arguments: scripts/build_image.sh --offline passes "--no-index --find-links /src/wheels"
ARG PIP_ARGS=""
# The dependencies first, from pyproject.toml alone, so that a source change reuses this layer.
# A wheels/ folder in the context (offline builds) lands in /src/wheels; without one the glob
# matches nothing and only pyproject.toml is copied.
COPY pyproject.toml wheelhous[e] /src/
RUN python3 -c "import re, tomllib; p = tomllib.load(open('/src/pyproject.toml', 'rb'))['project']; x = p['optional-dependencies']; extras = re.findall(r'[a-z0-9-]+', x['all'][0].split('[', 1)[1]); print('\n'.join(p['dependencies'] + [r for e in extras for r in x[e]]))" >/tmp/requirements.txt \
 && python3 -m venv /opt/isaacctl \
 && /opt/isaacctl/bin/python -m pip install --no-cache-dir --disable-pip-version-check ${PIP_ARGS} -r /tmp/requirements.txt
COPY . /src
RUN /opt/isaacctl/bin/python -m pip install --no-cache-dir --disable-pip-version-check ${PIP_ARGS} "/src[all]" \
 && /opt/isaacctl/bin/isaacctl --version

FROM ${BASE_IMAGE}
# A base that already has both (the offline CI base) needs no package index.
RUN if ! command -v ssh >/dev/null || ! command -v rsync >/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends openssh-client rsync \
        && rm -rf /var/lib/apt/lists/*; \
    fi
ARG UID=1000
ARG GID=1000
RUN groupadd --gid "${GID}" isaacctl \
 && useradd --uid "${UID}" --gid "${GID}" --create-home --shell /bin/bash isaacctl \
 && install -d -m 0700 -o isaacctl -g isaacctl /state /home/isaacctl/.ssh
COPY --from=build /opt/isaacctl /opt/isaacctl
# USER and LOGNAME: ssh, getpass and the deployments' creator field ask for a name
ENV PATH=/opt/isaacctl/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ISAACCTL_STATE_DIR=/state USER=isaacctl LOGNAME=isaacctl LANG=C.UTF-8
USER isaacctl
WORKDIR /home/isaacctl
ENTRYPOINT ["isaacctl"]
CMD ["--help"]
