-- check: unique_conversion_daily
-- severity: error
-- tables: conversion_daily
-- One row per day and device.
SELECT count(*) AS checked, count(*) - count(DISTINCT (session_date, device)) AS failing FROM conversion_daily
