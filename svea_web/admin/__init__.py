"""Administration of background jobs: the RQ dashboard at /admin/rq and job-group progress."""
