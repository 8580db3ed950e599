"""The workshop's Movie_Retrieval_Object2Vec algorithm, rebuilt for the serving benchmark.

It does per call what the workshop's function did (workshop-facts.md §1.4): download ua.base and
u.item from the caller's bucket, parse all 90,570 ratings, write and upload the list of unique
movie ids, ask the endpoint for every movie's embedding in one request, and scan for the nearest
movie with a Python loop of numpy norms. Two changes only: the unused `jsonlines` import is gone
(no layer needed) and the answer is returned rather than "Hello from Lambda!", so the benchmark can
check that both algorithms agree.
"""

import csv
import json
import os

import boto3
import numpy as np

ENDPOINT_NAME = os.environ["ENDPOINT_NAME"]
runtime = boto3.client("runtime.sagemaker")
s3 = boto3.resource("s3")
DATADIR = "object2vec/movielens/ml-100k"
WORKDIR = os.environ.get("WORKDIR", "/tmp")


def load_csv_data(path, delimiter):
    rows = []
    with open(path) as handle:
        for row in csv.reader(handle, delimiter=delimiter):
            rows.append({"in0": [int(row[0])], "in1": [int(row[1])], "label": float(row[2])})
    return rows


def get_movie_embedding_dict(movie_ids):
    body = json.dumps({"instances": [{"in1": [movie]} for movie in movie_ids]})
    response = runtime.invoke_endpoint(EndpointName=ENDPOINT_NAME, ContentType="application/json", Body=body)
    predictions = json.loads(response["Body"].read().decode())["predictions"]
    return {movie: np.array(predictions[i]["embeddings"]) for i, movie in enumerate(movie_ids)}


def get_nn_of_movie(movie_id, candidates, embeddings):
    best_id, min_dist = candidates[0], float("inf")
    for candidate in candidates:
        dist = np.linalg.norm(embeddings[candidate] - embeddings[movie_id])
        if dist < min_dist:
            best_id, min_dist = candidate, dist
    return best_id, min_dist


def load_movie_id_name_map(path):
    with open(path, encoding="ISO-8859-1") as handle:
        return {int(line.split("|")[0]): line.split("|")[1] for line in handle}


def lambda_handler(event, context):
    bucket = event["bucket_name"]
    movie_id = int(event["movie_id_to_examine"])
    for name in ("ua.base", "u.item"):
        s3.Object(bucket, f"{DATADIR}/{name}").download_file(f"{WORKDIR}/{name}")
    ratings = load_csv_data(f"{WORKDIR}/ua.base", "\t")
    movie_ids = list({row["in1"][0] for row in ratings})
    with open(f"{WORKDIR}/unique_movie_ids.txt", "w") as handle:
        json.dump(movie_ids, handle)
    s3.Object(bucket, f"{DATADIR}/unique_movie_ids.txt").upload_file(f"{WORKDIR}/unique_movie_ids.txt")
    embeddings = get_movie_embedding_dict(movie_ids)
    candidates = movie_ids.copy()
    candidates.remove(movie_id)
    best_id, _ = get_nn_of_movie(movie_id, candidates, embeddings)
    titles = load_movie_id_name_map(f"{WORKDIR}/u.item")
    print(f"The closest movie to {titles[movie_id]} in the embedding space is {titles[best_id]}")
    return {"statusCode": 200, "body": json.dumps({"movie_id": movie_id, "nearest": best_id})}
