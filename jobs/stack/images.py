"""Where SageMaker's built-in Object2Vec image lives in each region.

The registry accounts are the SageMaker Python SDK's
(`src/sagemaker/image_uri_config/object2vec.json`, aws/sagemaker-python-sdk, commit 088b7acb),
the one thing we need from that SDK; see README "Dependencies" for why we do not install it.
The local backend serves any image matching `*/object2vec:*` with our PyTorch implementation.
"""

from __future__ import annotations

from jobs.stack.errors import StackError

_OBJECT2VEC_REGISTRIES = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "991648021394",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ca-central-1": "469771592824",
    "eu-central-1": "664544806723",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}


def object2vec_image(region: str) -> str:
    try:
        account = _OBJECT2VEC_REGISTRIES[region]
    except KeyError:
        known = ", ".join(sorted(_OBJECT2VEC_REGISTRIES))
        raise StackError(
            f"no Object2Vec image is known for region {region!r}; known regions: {known}"
        ) from None
    return f"{account}.dkr.ecr.{region}.amazonaws.com/object2vec:1"
