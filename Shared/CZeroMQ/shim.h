#ifndef VECTIS_CZEROMQ_SHIM_H
#define VECTIS_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
