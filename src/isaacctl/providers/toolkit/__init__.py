"""What every cloud provider needs, written once (AWS uses it; GCP, Azure and Alibaba will).

One job per module, no cloud SDK imported at module level, nothing from `services/`:
    tags        an `Identity` as a cloud's tags, or as GCP-safe labels, and back
    sshkeys     the deployment's ed25519 key: generated here, public half for the cloud
    ingress     `--ingress-cidr`: normalising a CIDR, resolving `myip`
    failover    trying zones (or regions) in order, with a table of every attempt
    retry       polling and retrying with tenacity (backoff, deadlines)
    reachable   waiting until every node accepts SSH
    pricing     the dated price catalog templates/<provider>/prices.yaml
    verify      "nothing tagged remains" after a destroy
    cloudinit   the cloud-init user-data every cloud image runs at first boot
"""
