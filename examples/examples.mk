# Example unikernels: examples/<name>.c becomes the static musl program
# build/examples/<name> and the image build/images/<name>.img.

EXAMPLES := $(basename $(notdir $(wildcard examples/*.c)))

$(B)/examples/%: $(B)/obj/musl/examples/%.o
	@mkdir -p $(@D)
	$(MUSLCC) -static -o $@ $^

$(B)/images/%.img: $(B)/examples/% $(B)/bin/uigniterctl
	@mkdir -p $(@D)
	$(B)/bin/uigniterctl build -o $@ $<

ALL += $(EXAMPLES:%=$(B)/examples/%) $(EXAMPLES:%=$(B)/images/%.img)
