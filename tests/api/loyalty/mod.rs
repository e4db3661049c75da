mod earning;
mod events;
mod ledger_props;
