"""REST (http.py) and gRPC (grpc.py) faces of the gateway."""
