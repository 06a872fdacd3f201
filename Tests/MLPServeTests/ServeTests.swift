#if Serve
  import MLPServe
#endif
