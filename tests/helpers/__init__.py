"""What several test modules share: databases, clicks, waits. Test modules import from here,
never from each other."""
