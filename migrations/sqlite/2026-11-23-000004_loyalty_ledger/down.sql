DROP TABLE loyalty_settings;
DROP TABLE tier_changes;
DROP TABLE ledger_lot_closures;
DROP TABLE ledger_lot_consumptions;
DROP TABLE ledger_entries;
DROP TABLE loyalty_accounts;
