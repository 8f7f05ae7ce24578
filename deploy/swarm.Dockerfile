# swarm.Dockerfile — an image that runs swarm blocks (deploy/k8s-swarm-job.yaml, or any
# container engine): the repository at /alichain with alichain-sim built, and the commit
# it was built from in ALICHAIN_COMMIT (the image has no git to ask).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*
ARG ALICHAIN_COMMIT=unknown
ENV ALICHAIN_COMMIT=$ALICHAIN_COMMIT
COPY . /alichain
WORKDIR /alichain
RUN make clean && make sim-root
CMD ["/alichain/sim/swarm/swarm-job.sh"]
