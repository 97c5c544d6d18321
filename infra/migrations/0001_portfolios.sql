-- Saved portfolios, their holdings, and the record of deletions.
--
-- A portfolio belongs to the JWT subject (sub claim) that created it. Holdings
-- are one row each, in upload order, with the module's fields as one JSONB
-- object, so natural capital, agriculture and mining holdings share one table.

CREATE TABLE portfolios (
    id uuid PRIMARY KEY,
    owner_sub text NOT NULL CHECK (char_length(owner_sub) BETWEEN 1 AND 255),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    module text NOT NULL
        CHECK (module IN ('natural_capital', 'agriculture', 'mining')),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    holdings_count integer NOT NULL CHECK (holdings_count >= 0),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Listing walks one owner's portfolios in creation order (keyset pagination).
CREATE INDEX portfolios_owner_created_idx
    ON portfolios (owner_sub, created_at, id);

CREATE TABLE holdings (
    portfolio_id uuid NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position >= 0),
    data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    PRIMARY KEY (portfolio_id, position)
);

-- One row per deleted portfolio: its id and when it was deleted, nothing else.
-- A restore from an older snapshot skips every id listed here.
CREATE TABLE deleted_portfolios (
    id uuid PRIMARY KEY,
    deleted_at timestamptz NOT NULL
);
