# The services as unikernel images: build/images/<service>.img packs the static
# musl build of the service (build/musl/bin/<service>, the same sources as the
# native build/bin/<service>), with the default arguments it needs inside a VM.
#
# Inside a VM the root is the read-only image, so the services that keep data
# default to a directory under /tmp (a tmpfs, gone with the VM); a deployment
# that wants the data to last mounts a volume and passes --data for it. The
# gateway carries the web UI at /web. Everything else listens on 0.0.0.0 and
# finds its peers through --registry, which a deployment passes.

SERVICE_IMAGES := kvstore taskdb storage master worker gateway

IMG_ARGS_kvstore :=
IMG_ARGS_taskdb  := --cmd "--data /tmp/taskdb"
IMG_ARGS_storage := --cmd "--data /tmp/storage"
IMG_ARGS_master  :=
IMG_ARGS_worker  :=
IMG_ARGS_gateway := --cmd "--web /web"
IMG_FILES_gateway := web:/web

ALL += $(SERVICE_IMAGES:%=$(B)/images/%.img)

$(SERVICE_IMAGES:%=$(B)/images/%.img): $(B)/images/%.img: $(B)/musl/bin/% $(B)/bin/uigniterctl \
		services/images.mk
	@mkdir -p $(@D)
	$(B)/bin/uigniterctl build -o $@ $(IMG_ARGS_$*) $< $(IMG_FILES_$*)

$(B)/images/gateway.img: $(wildcard web/*)
