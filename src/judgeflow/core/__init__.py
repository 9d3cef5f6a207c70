"""Config, ablation variants, the shared file formats (records), hardware and the wall-time estimate."""
