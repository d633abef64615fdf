"""The AWS Isaac Lab pipeline's job JSON, as isaacctl maps it (no pydantic: fetch-logs uses it)."""

PIPELINE_FIELDS = {  # trainingConfig key -> JobSpec field
    "mode": "mode",
    "task": "task",
    "numEnvs": "num_envs",
    "maxIterations": "max_iterations",
    "rlLibrary": "rl_library",
    "seed": "seed",
    "checkpointPath": "checkpoint",
    "recordVideo": "video",
    "resumeCheckpoint": "resume",
    "stepsPerEpisode": "video_length",
}
