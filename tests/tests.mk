include $(wildcard tests/*/*.mk)
