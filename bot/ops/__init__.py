"""Running qtslack as a service: readiness, metrics, incidents, the canary, erasure, backup."""
