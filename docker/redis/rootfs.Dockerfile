# Image settings for the local redis:7.0, following the official redis
# image. scripts/build-images.sh builds the root filesystem (Debian bookworm +
# redis-server 7.0), imports it as ROOTFS_IMAGE and builds this file on top
# (metadata only, no extra layer, no registry needed).
ARG ROOTFS_IMAGE
FROM ${ROOTFS_IMAGE}
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.description="trickster-local/redis:7.0: redis:7.0 built locally from Debian packages by scripts/build-images.sh"
VOLUME /data
WORKDIR /data
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
