-- check: accepted_event_types
-- severity: warn
-- tables: raw_events
-- Event types outside the documented list (they are kept, but no mart counts them in the funnel).
SELECT count(*) AS checked,
       count(*) FILTER (WHERE event_type NOT IN ('page_view', 'product_view', 'add_to_cart', 'remove_from_cart',
                                                 'checkout', 'purchase', 'search', 'login', 'logout', 'signup')) AS failing
FROM raw_events
