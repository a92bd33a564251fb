from service.launch import main

main()
