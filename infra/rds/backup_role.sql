-- Create the read-only role the backup function signs in as with an RDS IAM
-- token. Run it once after the migrations, as the master user, with psql:
--
--   psql "host=... dbname=nature_risk user=nature_risk_admin sslmode=verify-full sslrootcert=..." \
--     -v backup_user=nature_risk_backup -v owner=nature_risk_admin -f infra/rds/backup_role.sql
--
-- backup_user must equal the stack parameter BackupDatabaseUser; owner is the
-- role that runs the migrations and so owns the tables. Running it again
-- changes nothing.

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN', :'backup_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'backup_user')
\gexec

-- rds_iam makes RDS accept an IAM token in place of a password.
GRANT rds_iam TO :"backup_user";
ALTER ROLE :"backup_user" SET default_transaction_read_only = on;

GRANT CONNECT ON DATABASE :"DBNAME" TO :"backup_user";
GRANT USAGE ON SCHEMA public TO :"backup_user";
-- A snapshot contains every table and every sequence's position.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"backup_user";
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO :"backup_user";
-- Tables and sequences that later migrations create are readable too.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT ON TABLES TO :"backup_user";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT ON SEQUENCES TO :"backup_user";
