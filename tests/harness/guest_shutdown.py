"""A test double for `shutdown -h now` inside an EC2 instance (documented in docs/autostop.md).

The autostop watchdog cannot power off the machine running the tests, so the tests point its
ISAACCTL_AUTOSTOP_POWEROFF at this script, which does what EC2 does when an instance's guest
shuts down: it reads the instance's InstanceInitiatedShutdownBehavior and stops (or, were it
"terminate", terminates) the instance in moto. The endpoint and dummy credentials come from the
environment the test gives it (moto on loopback).

    python guest_shutdown.py INSTANCE_ID [REGION]
"""

import os
import sys

import boto3


def main() -> int:
    instance_id = sys.argv[1]
    region = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    behaviour = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="instanceInitiatedShutdownBehavior")
    if behaviour["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate":
        ec2.terminate_instances(InstanceIds=[instance_id])
    else:
        ec2.stop_instances(InstanceIds=[instance_id])
    with open(os.environ.get("ISAACCTL_TEST_SHUTDOWN_LOG", os.devnull), "a") as log:
        log.write(f"{instance_id} {behaviour['InstanceInitiatedShutdownBehavior']['Value']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
