enum _MembershipModule {}
