#ifndef SQFS_CONFIG_H
#define SQFS_CONFIG_H
#define FUSE_USE_VERSION 32
#define HAVE_ASM_BYTEORDER_H 1
#define HAVE_DECL_FUSE_ADD_DIRENT 0
#define HAVE_DECL_FUSE_ADD_DIRENTRY 1
#define HAVE_DECL_FUSE_CMDLINE_HELP 1
#define HAVE_DECL_FUSE_DAEMONIZE 1
#define HAVE_DECL_FUSE_SESSION_REMOVE_CHAN 0
#define HAVE_ENDIAN_H 1
#define HAVE_FUSE_LL_FORGET_OP_64T 1
#define HAVE_INTTYPES_H 1
#define HAVE_LIBPTHREAD 1
#define HAVE_LINUX_TYPES_LE16 1
#define HAVE_STDINT_H 1
#define HAVE_STDIO_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STRING_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_SYSMACROS_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_UNISTD_H 1
#define HAVE_WCHAR_H 1
#define HAVE_ZLIB_H 1
#define HAVE_ZSTD_H 1
#define PACKAGE "squashfuse"
#define PACKAGE_NAME "squashfuse"
#define PACKAGE_STRING "squashfuse 0.5.2"
#define PACKAGE_TARNAME "squashfuse"
#define PACKAGE_VERSION "0.5.2"
#define SQFS_MULTITHREADED 1
#define STDC_HEADERS 1
#ifndef _ALL_SOURCE
#endif
#ifndef _DARWIN_C_SOURCE
#endif
#ifndef __EXTENSIONS__
#endif
#ifndef _GNU_SOURCE
#endif
#ifndef _HPUX_ALT_XOPEN_SOCKET_API
#endif
#ifndef _MINIX
#endif
#ifndef _NETBSD_SOURCE
#endif
#ifndef _OPENBSD_SOURCE
#endif
#ifndef _POSIX_SOURCE
#endif
#ifndef _POSIX_1_SOURCE
#endif
#ifndef _POSIX_PTHREAD_SEMANTICS
#endif
#ifndef __STDC_WANT_IEC_60559_ATTRIBS_EXT__
#endif
#ifndef __STDC_WANT_IEC_60559_BFP_EXT__
#endif
#ifndef __STDC_WANT_IEC_60559_DFP_EXT__
#endif
#ifndef __STDC_WANT_IEC_60559_FUNCS_EXT__
#endif
#ifndef __STDC_WANT_IEC_60559_TYPES_EXT__
#endif
#ifndef __STDC_WANT_LIB_EXT2__
#endif
#ifndef __STDC_WANT_MATH_SPEC_FUNCS__
#endif
#ifndef _TANDEM_SOURCE
#endif
#ifndef _XOPEN_SOURCE
#endif
#define VERSION "0.5.2"
#ifndef __cplusplus
#endif
#endif
