-- Earning rules per property (SPEC §6.2 "rules per outlet may exclude or weight spend"): a
-- property may override the group's points per currency unit and any outlet's weight; what it
-- does not override follows the group settings in loyalty_settings.
CREATE TABLE loyalty_property_rules (
    property_id TEXT PRIMARY KEY NOT NULL REFERENCES properties (id),
    points_per_unit TEXT,
    outlet_weights TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
