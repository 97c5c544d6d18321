-- Dashboard options saved with a portfolio (for example
-- {"exclude_water_supply": true}), so its dashboard is built as it was sent.

ALTER TABLE portfolios
    ADD COLUMN options jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(options) = 'object');
