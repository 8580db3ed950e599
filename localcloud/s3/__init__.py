"""S3: moto's server with write-through persistence to the state folder."""
