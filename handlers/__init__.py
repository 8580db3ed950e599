"""The Lambda functions. This folder is zipped as-is into each function's deployment package
(handler strings `handlers.recommendation_engine.lambda_handler` and
`handlers.movie_retrieval.lambda_handler`), so it may import only the standard library, boto3
and numpy: what the Lambda Python 3.12 runtime (plus a numpy layer) provides."""
