"""Benchmark suites by name. Each returns rows: what, value, unit, and optionally the
reference it is compared against (ratio, against) and the goal."""

from suites import alibaba, aws, azure, bootstrap, deploy_calls, distributed, gcp, jobs, managed, startup

SUITES = {
    "startup": startup.run,
    "bootstrap": bootstrap.run,
    "jobs": jobs.run_suite,
    "distributed": distributed.run,
    "aws": aws.run,
    "azure": azure.run,
    "gcp": gcp.run,
    "alibaba": alibaba.run,
    "deploy_calls": deploy_calls.run,
    "managed": managed.run_suite,
}
