"""Rasd's downloader middlewares (Scrapy's own shape)."""
