enum _CoordinationModule {}
