enum _PluginsModule {}
