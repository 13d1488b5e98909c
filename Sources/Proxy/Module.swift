enum _ProxyModule {}
