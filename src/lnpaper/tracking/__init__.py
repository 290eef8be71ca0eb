"""MLflow: log a build from the step manifests, compare builds."""
