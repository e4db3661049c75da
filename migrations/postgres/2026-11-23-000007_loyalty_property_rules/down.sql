DROP TABLE loyalty_property_rules;
