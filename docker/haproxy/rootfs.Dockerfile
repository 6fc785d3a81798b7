# Image settings for the local haproxy:2.6, following the official haproxy
# image. scripts/build-images.sh builds the root filesystem (Debian bookworm +
# haproxy 2.6), imports it as ROOTFS_IMAGE and builds this file on top
# (metadata only, no extra layer, no registry needed).
ARG ROOTFS_IMAGE
FROM ${ROOTFS_IMAGE}
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.description="trickster-local/haproxy:2.6: haproxy:2.6 built locally from Debian packages by scripts/build-images.sh"
# graceful stop: finish established connections
STOPSIGNAL SIGUSR1
ENTRYPOINT ["docker-entrypoint.sh"]
USER haproxy
WORKDIR /var/lib/haproxy
CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
