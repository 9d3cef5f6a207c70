"""Reading data: one registered loader per dataset format, and the offline question generators."""
