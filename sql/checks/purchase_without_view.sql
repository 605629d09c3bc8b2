-- check: purchase_without_view
-- severity: warn
-- tables: sessions
-- Sessions with a purchase but no page or product view: tracking gaps or scripted checkouts.
SELECT count(*) FILTER (WHERE purchases > 0) AS checked,
       count(*) FILTER (WHERE purchases > 0 AND page_views + product_views = 0) AS failing
FROM sessions
