"""The environment variable through which tests/test_kernel_variants.py changes the settings.

The root conftest.py gives every kernel the reproducible settings; a variant run names the
settings it changes in this variable (JSON), and conftest.py applies them on top.
"""

KERNEL_VARIANT_ENV = "LLM_FOUNDATIONS_KERNEL_VARIANT"
