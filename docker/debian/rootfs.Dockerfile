# Image settings for the local debian:bookworm-slim. scripts/build-images.sh
# bootstraps the root filesystem, imports it as ROOTFS_IMAGE and builds this
# file on top (metadata only, no extra layer, no registry needed).
ARG ROOTFS_IMAGE
FROM ${ROOTFS_IMAGE}
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.description="trickster-local/debian:bookworm-slim: debian:bookworm-slim built locally from Debian packages by scripts/build-images.sh"
CMD ["bash"]
