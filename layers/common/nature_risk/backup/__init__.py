"""Database snapshots to a private S3 bucket, their verification and restore.

``snapshot`` writes a snapshot, ``reader`` lists and verifies snapshots, and
``restore`` loads one into an empty database. ``docs/backups.md`` describes
the bucket layout, the retention and the restore procedure.
"""
