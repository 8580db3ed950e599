"""SageMaker: hosting (models, endpoint configs, endpoints, InvokeEndpoint) and training jobs."""
